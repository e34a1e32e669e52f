"""Phase 4 precompute service (Cloud Run)."""
import os

from flask import Flask, jsonify, request

from data_processors.precompute.player_composite_factors import PlayerCompositeFactorsProcessor
from data_processors.precompute.player_daily_cache import PlayerDailyCacheProcessor
from data_processors.precompute.player_shot_zone_analysis import PlayerShotZoneAnalysisProcessor
from data_processors.precompute.team_defense_zone_analysis import TeamDefenseZoneAnalysisProcessor

app = Flask(__name__)
PROCESSORS = {
    "TeamDefenseZoneAnalysisProcessor": TeamDefenseZoneAnalysisProcessor,
    "PlayerShotZoneAnalysisProcessor": PlayerShotZoneAnalysisProcessor,
    "PlayerDailyCacheProcessor": PlayerDailyCacheProcessor,
    "PlayerCompositeFactorsProcessor": PlayerCompositeFactorsProcessor,
}


@app.route("/health", methods=["GET"])
def health():
    return jsonify({"status": "healthy", "service": "nba-phase4-precompute-processors",
                    "commit_sha": os.environ.get("COMMIT_SHA", "unknown")})


@app.route("/process-date", methods=["POST"])
def process_date():
    data = request.get_json(force=True)
    analysis_date = data["analysis_date"]
    names = data.get("processors") or list(PROCESSORS)
    results = {}
    for name in names:
        processor = PROCESSORS[name](
            backfill_mode=bool(data.get("backfill_mode", False)),
            strict_mode=bool(data.get("strict_mode", True)),
            skip_dependency_check=bool(data.get("skip_dependency_check", False)),
        )
        results[name] = processor.run(analysis_date)
    return jsonify({"status": "success", "results": results})


if __name__ == "__main__":
    app.run(host="0.0.0.0", port=int(os.environ.get("PORT", 8080)))
