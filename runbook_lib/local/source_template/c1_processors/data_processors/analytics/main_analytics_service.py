"""Phase 3 analytics service (Cloud Run)."""
import os

from flask import Flask, jsonify, request

from data_processors.analytics.player_game_summary import PlayerGameSummaryProcessor
from data_processors.analytics.team_offense_game_summary import TeamOffenseGameSummaryProcessor

app = Flask(__name__)
PROCESSORS = {
    "PlayerGameSummaryProcessor": PlayerGameSummaryProcessor,
    "TeamOffenseGameSummaryProcessor": TeamOffenseGameSummaryProcessor,
}


@app.route("/health", methods=["GET"])
def health():
    return jsonify({"status": "healthy", "service": "nba-phase3-analytics-processors",
                    "commit_sha": os.environ.get("COMMIT_SHA", "unknown")})


@app.route("/process-date-range", methods=["POST"])
def process_date_range():
    data = request.get_json(force=True)
    start_date, end_date = data["start_date"], data["end_date"]
    names = data.get("processors") or list(PROCESSORS)
    backfill_mode = bool(data.get("backfill_mode", False))
    results = {}
    for name in names:
        processor = PROCESSORS[name](backfill_mode=backfill_mode)
        results[name] = processor.run(start_date, end_date)
    return jsonify({"status": "success", "results": results})


if __name__ == "__main__":
    app.run(host="0.0.0.0", port=int(os.environ.get("PORT", 8080)))
