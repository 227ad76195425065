from rccserver.cli import main

raise SystemExit(main())
