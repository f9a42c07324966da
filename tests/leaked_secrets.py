"""The variables issue 12 found shown in clear to readers and stored unencrypted, with values to look for.

Each value holds a `<word>-s3cr3t` part (the password or key inside a URL) that must never show.
"""

from __future__ import annotations

JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLXMzY3IzdA"
LEAKED = {
    "AUTH": "auth-s3cr3t",
    "BEARER": "bearer-s3cr3t",
    "AUTHORIZATION": "Bearer authz-s3cr3t",
    "PGPASSWORD": "pg-s3cr3t",
    "DB_PASS": "db-s3cr3t",
    "PASSPHRASE": "phrase-s3cr3t",
    "JWT": JWT,
    "SESSION_COOKIE": "cookie-s3cr3t",
    "AZURE_CLIENT_CERTIFICATE": "cert-s3cr3t",
    "DATABASE_URL": "postgresql://app:dburl-s3cr3t@db.internal:5432/app",
    "MONGODB_URI": "mongodb+srv://app:mongo-s3cr3t@cluster0.example.mongodb.net/app",
    "SENTRY_DSN": "https://dsn-s3cr3t@o1.ingest.sentry.io/1",
    "SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T000/B000/webhook-s3cr3t",
}
