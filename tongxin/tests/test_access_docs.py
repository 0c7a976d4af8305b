"""docs/access.md is generated from the policy table; it must say what the code does."""

from django.core.management import call_command


def test_access_docs_match_the_policy_table() -> None:
    # given the policy table and the routes as they are in the code
    # then the generated document is identical to the committed one (else: `manage.py access_docs`)
    call_command("access_docs", "--check")
