from django.contrib.auth import views as auth_views
from django.urls import include, path

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("dang-nhap/", auth_views.LoginView.as_view(template_name="frontend/login.html"), name="login"),
    path("dang-xuat/", auth_views.LogoutView.as_view(), name="logout"),
    # Producers and the community teams who help them (mobile first).
    path("nha-san-xuat/", include("frontend.wizard.urls")),
    # Officers at a desk.
    path("can-bo/", include("frontend.dashboard.urls")),
]
