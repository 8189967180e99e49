"""agent_assist_ui package."""
