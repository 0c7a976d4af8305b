"""Issue (or revoke) an API bearer token for a user from the command line.

manage.py issue_token jiedao --name "grid app"      # prints the key once
manage.py issue_token jiedao --list                 # the user's tokens, without keys
manage.py issue_token jiedao --revoke=AbCdEfGh      # revoke by the 8-character prefix; keep the "=",
                                                    # since a prefix may start with "-"
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tongxin.accounts import services
from tongxin.core.models import ApiToken, User


class Command(BaseCommand):
    help = "Issue an API bearer token for a user and print its key (shown only once); or list/revoke tokens."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--name", default="cli", help="What the token is for")
        parser.add_argument("--list", action="store_true", help="List the user's tokens instead")
        parser.add_argument(
            "--revoke",
            metavar="PREFIX",
            help="Revoke the user's token with this prefix (write --revoke=PREFIX)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        user = User.objects.filter(username=options["username"]).first()
        if user is None:
            raise CommandError(f"no user named {options['username']!r}")
        if options["list"]:
            for token in ApiToken.objects.filter(user=user).order_by("created_at", "id"):
                state = "revoked" if token.revoked else "active"
                used = f"{token.last_used_at:%Y-%m-%d %H:%M}" if token.last_used_at else "never used"
                self.stdout.write(
                    f"{token.prefix}  {state:8}  {token.created_at:%Y-%m-%d}  {used}  {token.name}"
                )
            return
        if options["revoke"]:
            tokens = list(ApiToken.objects.filter(user=user, prefix=options["revoke"], revoked=False))
            if len(tokens) != 1:
                raise CommandError(
                    f"{len(tokens)} active tokens of {user.username} start with {options['revoke']!r}"
                )
            services.revoke_token(tokens[0])
            self.stdout.write(f"revoked {tokens[0].prefix} ({tokens[0].name})")
            return
        if not user.is_active:
            raise CommandError(f"{user.username} is not active")
        token, key = services.issue_token(user, options["name"])
        self.stderr.write(
            f"token {token.prefix}… for {user.username} ({token.name}); the key is shown only once:"
        )
        self.stdout.write(key)
