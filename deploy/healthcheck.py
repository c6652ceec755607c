"""The app container's health: GET /healthz on the operator API (ARI connected, PostgreSQL answers).

Exit 0 when it says 200, 1 otherwise (Docker's HEALTHCHECK contract). The address is the API's own
(API_HOST, API_PORT); a wildcard bind is asked on loopback.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request

WILDCARDS = {"", "0.0.0.0", "::"}


def main() -> int:
    host = os.environ.get("API_HOST", "127.0.0.1")
    host = "127.0.0.1" if host in WILDCARDS else host
    host = f"[{host}]" if ":" in host else host
    url = f"http://{host}:{os.environ.get('API_PORT', '8080')}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=4) as response:
            print(response.read(200).decode(errors="replace"))
            return 0 if response.status == 200 else 1
    except urllib.error.HTTPError as exc:  # 503: the body says which check failed
        print(f"{url}: {exc.code} {exc.read(400).decode(errors='replace')}")
        return 1
    except (urllib.error.URLError, OSError) as exc:
        print(f"{url}: {exc}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
