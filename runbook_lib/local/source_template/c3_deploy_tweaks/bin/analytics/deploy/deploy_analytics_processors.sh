#!/bin/bash
# Deploy the Phase 3 analytics processors to Cloud Run.
set -e

SERVICE_NAME="nba-phase3-analytics-processors"
REGION="us-west2"
PROJECT_ID="${PROJECT_ID:-nba-props-platform}"
COMMIT_SHA="$(git rev-parse --short HEAD)"
START_TIME=$(date +%s)

echo "Deploying $SERVICE_NAME to $REGION from commit $COMMIT_SHA..."

# gcloud run deploy --source builds ./Dockerfile, so put this phase's Dockerfile there
cp docker/analytics-processor.Dockerfile ./Dockerfile

gcloud run deploy "$SERVICE_NAME" \
    --source=. \
    --region="$REGION" \
    --project="$PROJECT_ID" \
    --platform=managed \
    --no-allow-unauthenticated \
    --memory=2Gi \
    --cpu=2 \
    --timeout=540 \
    --set-env-vars="GCP_PROJECT_ID=$PROJECT_ID,COMMIT_SHA=$COMMIT_SHA" \
    --labels="commit-sha=$COMMIT_SHA"

rm ./Dockerfile

echo "Deployed $SERVICE_NAME in $(( $(date +%s) - START_TIME ))s"
