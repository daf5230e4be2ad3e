"""Container HEALTHCHECK: exit 0 when the service's /livez answers 200, else 1.

Usage: python healthcheck.py PORT_VARIABLE DEFAULT_PORT
The port comes from the same variable the service reads (INGEST_PORT, ...), so a
container started with another port is still probed where it listens. Standard
library only: the runtime image carries no curl or wget.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request


def probe(port_variable: str, default_port: str, timeout: float = 2.0) -> int:
    port = os.environ.get(port_variable) or default_port
    url = f"http://127.0.0.1:{port}/livez"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return 0 if response.status == 200 else 1
    except (OSError, urllib.error.URLError) as exc:
        print(f"healthcheck: {url}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: healthcheck.py PORT_VARIABLE DEFAULT_PORT")
    sys.exit(probe(sys.argv[1], sys.argv[2]))
