"""``python -m bench``: the ledger benchmark (bench/run.py) printing one JSON object: each figure,
its baseline and the ratio, all measured in the same run. Options as bench/run.py."""

import sys

from bench.run import main

sys.exit(main(["--json", *sys.argv[1:]]))
