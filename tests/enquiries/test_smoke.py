from crm.core.models import Enquiry
from tests.helpers import count, valid_payload


def test_api_stores_an_enquiry(app, client):
    response = client.post("/api/v1/enquiries", json=valid_payload())
    assert response.status_code == 201, response.json
    assert count(app, Enquiry) == 1
