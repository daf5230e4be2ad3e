"""TonyPi Fleet Monitor ingest service."""
