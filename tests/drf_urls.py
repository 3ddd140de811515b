"""A site whose only protected API is a DRF view (authenticated by GraphBearerAuthentication)."""
from django.urls import include, path

from demo_site.api import MeView

urlpatterns = [path("v1/", include([path("me", MeView.as_view())]))]
