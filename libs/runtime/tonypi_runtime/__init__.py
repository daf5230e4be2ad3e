"""What every TonyPi service process needs: env config, ops endpoints, logging, retry, signals."""
