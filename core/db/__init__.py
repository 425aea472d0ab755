"""Database plumbing shared by every package: metadata, engine, migrations, datetime storage."""
