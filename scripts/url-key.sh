#!/usr/bin/env bash
# Prints a new key for Database:UrlKeys (AES-256-GCM): 32 random bytes, base64.
#   bash scripts/url-key.sh                                  the key
#   echo "PORTALLINK_URL_KEYS=$(bash scripts/url-key.sh)" >> .env   for docker compose (read from .env)
# Rotation: put the new key first and keep the old ones after it, comma-separated; then `PortalLinkWorker links reencrypt`.
set -euo pipefail
head -c 32 /dev/urandom | base64 -w0
echo
