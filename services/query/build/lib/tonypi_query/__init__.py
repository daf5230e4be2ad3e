"""TonyPi Fleet Monitor query service."""
