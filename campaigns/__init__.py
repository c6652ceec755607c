"""The collections domain and its PostgreSQL store: debtors, campaigns, the contact policy, call jobs,
call records and their results, webhooks, recordings' retention.

Knows nothing of ARI, audio or the agent's brain (but for its vocabulary); the ARI app drives it
through the repositories here, and the API and the analysis sit on it.
"""
