"""`in` on integer columns that cannot overflow.

Django's `exact`, `gt`, `lt` ... on an integer column answer "no match" for a number outside the
column's range, but `in` passes it to the database: SQLite raises OverflowError, PostgreSQL a
"bigint out of range" error, a server error either way. Forms that look rows up by id
(ModelMultipleChoiceField, the admin's many-to-many widgets) filter with `pk__in=` on whatever
was posted. Registered here for every integer field, so no such lookup anywhere can fail.
"""

from django.db import models
from django.db.models.lookups import In


@models.IntegerField.register_lookup
class IntegerIn(In):
    """Values outside the column's range match nothing: they are left out of the list."""

    def process_rhs(self, compiler, connection):
        if self.rhs_is_direct_value():
            low, high = connection.ops.integer_field_range(self.lhs.output_field.get_internal_type())
            self.rhs = [
                value
                for value in self.rhs
                if not isinstance(value, int) or ((low is None or value >= low) and (high is None or value <= high))
            ]
        return super().process_rhs(compiler, connection)
