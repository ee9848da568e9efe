"""Schemathesis against the published OpenAPI schema, on gunicorn with PostgreSQL and Redis.

The demo store of the API benchmark (its database, seeded and with pipelines run) is served
as in bench/api.py; every operation is then generated examples for with a partner's API
token, a shopper's (a signed-in account with its visitor), a seller's, a staff member's, and
without one, with every check (server errors, undocumented status codes and content types,
schema conformance of responses, acceptance of valid and rejection of invalid input, stateful
sequences).
schemathesis.toml lists the operations whose references the schema cannot validate. Exit
status: Schemathesis's (0 when nothing was found).

    python bench/api_fuzz.py [--examples 100]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from api import CACHE_PREFIX, DEFAULT_REDIS, DEFAULT_URL, PORT, prepare, shell, start_server
from run import ROOT

SCHEMATHESIS = ROOT / ".venv-fuzz" / "bin" / "st"


def schemathesis(examples: int, *headers: str) -> int:
    base = f"http://127.0.0.1:{PORT}"
    command = [str(SCHEMATHESIS), "run", f"{base}/api/schema/", "--url", base]
    command += ["--checks", "all", "--max-examples", str(examples), "--workers", "2"]
    for header in headers:
        command += ["-H", header]
    return subprocess.run(command, cwd=ROOT, check=False).returncode  # noqa: S603


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=100, help="examples per operation")
    args = parser.parse_args()
    url = os.environ.get("BENCH_API_DATABASE_URL", DEFAULT_URL)
    redis_url = os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS)
    os.environ |= {"REDIS_URL": redis_url, "CACHE_KEY_PREFIX": CACHE_PREFIX}
    token, _visitors, _products = prepare(url)
    shopper = shell(url, SHOPPER)
    seller = shell(url, SELLER)
    staff = shell(url, STAFF)
    server = start_server(url, redis_url)
    try:
        print("== With a partner's API token")
        with_token = schemathesis(args.examples, f"Authorization: Token {token}")
        print("== With a shopper's token")
        as_shopper = schemathesis(args.examples, f"Authorization: Token {shopper}")
        print("== With a seller's token")
        as_seller = schemathesis(args.examples, f"Authorization: Token {seller}")
        print("== With a staff member's token (Merchandiser and Operator)")
        as_staff = schemathesis(args.examples, f"Authorization: Token {staff}")
        print("== Without credentials")
        anonymous = schemathesis(args.examples)
    finally:
        server.terminate()
        server.wait()
    sys.exit(with_token or as_shopper or as_seller or as_staff or anonymous)


# A shopper's account with its visitor and token, as /api/auth/login leaves it.
SHOPPER = (
    "from django.contrib.auth.models import User; "
    "from rest_framework.authtoken.models import Token; "
    "from tracking.services import visitor_sign_in; "
    "user = User.objects.filter(username='fuzz-shopper').first() or "
    "User.objects.create_user('fuzz-shopper', 'fuzz@example.com', 'a long fuzz passphrase'); "
    "visitor_sign_in(visitor='fuzz-shopper-app', user=user); "
    "print(Token.objects.get_or_create(user=user)[0].key)"
)


# A marketplace seller: the Seller role, a seller profile and a token.
SELLER = (
    "from django.contrib.auth.models import Group, User; "
    "from rest_framework.authtoken.models import Token; "
    "from catalog.models import SellerProfile; "
    "user = User.objects.filter(username='fuzz-seller').first() or "
    "User.objects.create_user('fuzz-seller', 'seller@example.com', 'a long fuzz passphrase'); "
    "user.groups.add(Group.objects.get(name='Seller')); "
    "SellerProfile.objects.get_or_create(user=user, defaults={'display_name': 'Fuzz', "
    "'contact_email': 'seller@example.com'}); "
    "print(Token.objects.get_or_create(user=user)[0].key)"
)


# A staff member who manages the shelves' rules and flushes caches.
STAFF = (
    "from django.contrib.auth.models import Group, User; "
    "from rest_framework.authtoken.models import Token; "
    "user = User.objects.filter(username='fuzz-staff').first() or "
    "User.objects.create_user('fuzz-staff', 'staff@example.com', 'a long fuzz passphrase', "
    "is_staff=True); "
    "user.groups.add(*Group.objects.filter(name__in=['Merchandiser', 'Operator'])); "
    "print(Token.objects.get_or_create(user=user)[0].key)"
)


if __name__ == "__main__":
    main()
