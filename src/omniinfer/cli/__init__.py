"""The `omniinfer` command line (`omniinfer.cli.main`) and `tiny-agents` (`omniinfer.cli.tiny_agents`)."""
