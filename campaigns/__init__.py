"""The collections domain and its PostgreSQL store: debtors, campaigns, call jobs and call records.

Knows nothing of ARI or audio; the ARI app drives it through the repositories here.
"""
