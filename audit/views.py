from django.shortcuts import render

from accounts.access import role_required
from accounts.roles import AUDIT_ROLES


@role_required(AUDIT_ROLES)
def audit_index(request):
    return render(request, "audit/index.html")
