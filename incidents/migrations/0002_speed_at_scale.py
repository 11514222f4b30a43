# Speed at scale: a stored tsvector kept by a trigger, its GIN index, the newest-first indexes of
# lists, and case-insensitive customer lookups.

import django.contrib.postgres.indexes
import django.contrib.postgres.search
import django.db.models.functions.text
from django.db import migrations, models


class PostgresOnlyAddIndex(migrations.AddIndex):
    """GIN exists on PostgreSQL only; SQLite keeps the model state and skips the index."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


class PostgresOnlySQL(migrations.RunSQL):
    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


# The 'simple' configuration: names and words in five languages, no stemming that suits one of them.
# Hyphens become spaces before parsing (as selectors.prefix_tsquery does with what is typed): the
# parser would read "ACC-00042" as the word "acc" and the number "-00042".
SEARCH_TRIGGERS = """
CREATE FUNCTION incidents_incident_search_vector() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    SELECT setweight(to_tsvector('simple', translate(
               c.display_name || ' ' || c.account_reference || ' ' || c.email, '-', ' ')), 'A')
      INTO NEW.search_vector FROM incidents_customer c WHERE c.id = NEW.customer_id;
    NEW.search_vector := coalesce(NEW.search_vector, ''::tsvector)
        || setweight(to_tsvector('simple', translate(coalesce(NEW.summary, ''), '-', ' ')), 'B');
    RETURN NEW;
END $$;
CREATE TRIGGER incidents_incident_search_vector
    BEFORE INSERT OR UPDATE OF summary, customer_id ON incidents_incident
    FOR EACH ROW EXECUTE FUNCTION incidents_incident_search_vector();

CREATE FUNCTION incidents_customer_search_vector() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Touching summary re-runs the incident trigger, which reads the customer's new values.
    UPDATE incidents_incident SET summary = summary WHERE customer_id = NEW.id;
    RETURN NULL;
END $$;
CREATE TRIGGER incidents_customer_search_vector
    AFTER UPDATE OF display_name, account_reference, email ON incidents_customer
    FOR EACH ROW
    WHEN (OLD.display_name IS DISTINCT FROM NEW.display_name
          OR OLD.account_reference IS DISTINCT FROM NEW.account_reference
          OR OLD.email IS DISTINCT FROM NEW.email)
    EXECUTE FUNCTION incidents_customer_search_vector();

UPDATE incidents_incident SET summary = summary;
"""

DROP_SEARCH_TRIGGERS = """
DROP TRIGGER IF EXISTS incidents_customer_search_vector ON incidents_customer;
DROP FUNCTION IF EXISTS incidents_customer_search_vector();
DROP TRIGGER IF EXISTS incidents_incident_search_vector ON incidents_incident;
DROP FUNCTION IF EXISTS incidents_incident_search_vector();
"""


class Migration(migrations.Migration):
    dependencies = [
        ("incidents", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="incident",
            name="search_vector",
            field=django.contrib.postgres.search.SearchVectorField(editable=False, null=True),
        ),
        migrations.AddIndex(
            model_name="incident",
            index=models.Index(fields=["-created_at", "-id"], name="incident_created_keyset"),
        ),
        migrations.AddIndex(
            model_name="customer",
            index=models.Index(django.db.models.functions.text.Upper("email"), name="customer_email_upper"),
        ),
        migrations.AddIndex(
            model_name="customer",
            index=models.Index(
                django.db.models.functions.text.Upper("account_reference"), name="customer_reference_upper"
            ),
        ),
        migrations.AddIndex(
            model_name="indicator",
            index=models.Index(fields=["-created_at", "-id"], name="indicator_seen"),
        ),
        PostgresOnlySQL(SEARCH_TRIGGERS, DROP_SEARCH_TRIGGERS),
        PostgresOnlyAddIndex(
            model_name="incident",
            index=django.contrib.postgres.indexes.GinIndex(fields=["search_vector"], name="incident_search"),
        ),
    ]
