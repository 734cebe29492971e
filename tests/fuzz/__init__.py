"""Hostile-model machinery: an object-API model editor, a fixed-seed mutator and a campaign runner
(see campaign.py; tests/test_fuzz.py runs it in the suite)."""
