from django.http import StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone

from accounts.access import reauth_required, role_required
from accounts.roles import AUDIT_ROLES

from . import exports, selectors, services
from .forms import AuditFilterForm


@role_required(AUDIT_ROLES)
def audit_index(request):
    """The audit trail, newest first, filtered; older pages by ?before=<seq>."""
    form = AuditFilterForm(request.GET or None)
    page = None
    if not request.GET or form.is_valid():
        cleaned = form.cleaned_data if form.is_bound else {}
        filters = form.filters() if form.is_bound else {"hide_views": True}
        page = selectors.entry_page(filters, before=cleaned.get("before"))
    query = request.GET.copy()
    query.pop("before", None)
    return render(
        request,
        "audit/index.html",
        {"form": form, "page": page, "filter_query": query.urlencode()},
        status=200 if page is not None else 400,
    )


@role_required(AUDIT_ROLES)
@reauth_required
def audit_export(request, fmt: str):
    """The filtered entries as a file, streamed; the export itself goes on the record."""
    form = AuditFilterForm(request.GET)
    if not form.is_valid():
        return render(request, "audit/index.html", {"form": form, "page": None, "filter_query": ""}, status=400)
    content_type, _ = exports.FORMATS[fmt]
    lines = services.export_entries(form.filters(), fmt=fmt, actor=request.user)
    response = StreamingHttpResponse(lines, content_type=content_type)
    stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
    response["Content-Disposition"] = f'attachment; filename="bulwark-audit-{stamp}.{fmt}"'
    return response
