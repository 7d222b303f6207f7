#!/bin/sh
# Nightly PostgreSQL backup (cron: 15 1 * * * /srv/foretagslots/app/deploy/backup-postgres.sh).
# Custom-format dumps kept BACKUP_DAYS days; restore with
#   pg_restore --clean --if-exists -d foretagslots /srv/backup/foretagslots-YYYY-MM-DD.dump
# Backups hold personal data that gallring later removes from the database: keep them no
# longer than needed (35 days here) so that gallring also reaches them.
set -eu
BACKUP_DIR=${BACKUP_DIR:-/srv/backup}
BACKUP_DAYS=${BACKUP_DAYS:-35}
mkdir -p "$BACKUP_DIR"
pg_dump --format=custom --file="$BACKUP_DIR/foretagslots-$(date +%F).dump" "${DATABASE_URL:?set DATABASE_URL}"
find "$BACKUP_DIR" -name 'foretagslots-*.dump' -mtime +"$BACKUP_DAYS" -delete
