"""`python -m devstack`: run the local stack until Ctrl-C (PORT, default 8000, on 127.0.0.1)."""

from devstack.cli import main

raise SystemExit(main())
