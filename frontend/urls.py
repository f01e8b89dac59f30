from django.contrib.auth import views as auth_views
from django.templatetags.static import static
from django.urls import include, path
from django.utils.functional import lazy
from django.views.generic import RedirectView

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    # Browsers and crawlers ask for /favicon.ico whatever the page links. Not permanent: in production the static
    # name carries the file's hash, which changes with the icon. Lazy: the manifest is read on the first request.
    path(
        "favicon.ico",
        RedirectView.as_view(url=lazy(static, str)("frontend/favicon.svg"), http_method_names=["get", "head"]),
        name="favicon",
    ),
    path("dang-nhap/", auth_views.LoginView.as_view(template_name="frontend/login.html"), name="login"),
    path("dang-xuat/", auth_views.LogoutView.as_view(), name="logout"),
    # Producers and the community teams who help them (mobile first).
    path("nha-san-xuat/", include("frontend.wizard.urls")),
    # Officers at a desk.
    path("can-bo/", include("frontend.dashboard.urls")),
]
