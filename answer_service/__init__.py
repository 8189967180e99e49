"""answer_service package."""
