from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from accounts.access import public

from .admin_site import DeskAdminSite
from .health import healthz

# The admin demands a verified second factor itself too, not only through our middleware.
admin.site.__class__ = DeskAdminSite
admin.site.site_header = "Bulwark administration"
admin.site.site_title = "Bulwark admin"

# A database outage is answered 503 with a page that says so (config/errors.py).
handler500 = "config.errors.server_error"

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("accounts/", include("accounts.urls")),
    # The admin signs in through the desk's own two-step sign-in.
    path(
        "admin/login/",
        public(RedirectView.as_view(pattern_name="accounts:login", query_string=True)),
        name="admin-login-redirect",
    ),
    path("admin/", admin.site.urls),
    path("audit/", include("audit.urls")),
    path("", include("campaigns.urls")),
    path("", include("breaches.urls")),
    path("", include("reporting.urls")),
    path("", include("incidents.urls")),
]

if settings.BULWARK_BENCH:  # `make bench` only; absent from every other configuration
    from .benchmark import floor  # only in `make bench`: never imported otherwise

    urlpatterns.insert(0, path("bench/floor/", floor, name="bench-floor"))
