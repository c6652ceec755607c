"""Sales campaigns' conversation: a product's script, the lead's cues, and the built-in sales agent."""
