from ecs_reboot_diagnosis_mcp.cli import main

raise SystemExit(main())
