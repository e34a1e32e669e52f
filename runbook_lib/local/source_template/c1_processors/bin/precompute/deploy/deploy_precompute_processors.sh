#!/bin/bash
# Deploy the Phase 4 precompute processors to Cloud Run.
set -e

SERVICE_NAME="nba-phase4-precompute-processors"
REGION="us-west2"
PROJECT_ID="${PROJECT_ID:-nba-props-platform}"

echo "Deploying $SERVICE_NAME to $REGION..."

# gcloud run deploy --source builds ./Dockerfile, so put this phase's Dockerfile there
cp docker/precompute-processor.Dockerfile ./Dockerfile

gcloud run deploy "$SERVICE_NAME" \
    --source=. \
    --region="$REGION" \
    --project="$PROJECT_ID" \
    --platform=managed \
    --allow-unauthenticated \
    --memory=4Gi \
    --cpu=2 \
    --timeout=900 \
    --set-env-vars="GCP_PROJECT_ID=$PROJECT_ID"

rm ./Dockerfile

echo "Deployed $SERVICE_NAME"
