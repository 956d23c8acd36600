from opsproof.cli import main

raise SystemExit(main())
