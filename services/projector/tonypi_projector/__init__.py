"""TonyPi Fleet Monitor projector service."""
