"""Adapters of ecs-reboot-diagnosis: CLI, MCP server, Alibaba Cloud gateway."""
