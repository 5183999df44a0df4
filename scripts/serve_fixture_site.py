"""Serve the test fixture feeds on 127.0.0.1 and write a config dir pointing at them.

For trying newsmon on a machine without internet:

    .venv/bin/python scripts/serve_fixture_site.py &      # port 8765, config in .demo-config/
    NEWSMON_CONFIG_DIR=$PWD/.demo-config NEWSMON_ALLOW_PRIVATE_NETWORKS=1 make run
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.support.fixture_site import FixtureSite, write_config_dir  # noqa: E402


def main(port: int = 8765) -> None:
    site = FixtureSite(port=port).start()
    feeds = {"fixture-world": "/feeds/world.rss", "fixture-korea": "/feeds/korea.atom"}
    config_dir = write_config_dir(REPO / ".demo-config", site.base_url, feeds)
    print(f"Serving fixture feeds at {site.base_url}; config dir: {config_dir}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        site.stop()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 8765)
