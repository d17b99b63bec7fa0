"""The staff navigation links only pages that exist and that the role may open."""


def test_a_manager_sees_no_admin_links_and_every_link_works(app, client, make_user, login):
    login(client, make_user(role="manager"))
    html = client.get("/staff/enquiries").get_data(as_text=True)
    assert 'href="/staff/enquiries"' in html and 'aria-current="page"' in html
    assert "/admin/" not in html


def test_an_admin_sees_the_admin_links_and_each_answers_200(app, client, make_user, login):
    login(client, make_user(role="admin"))
    html = client.get("/staff/enquiries").get_data(as_text=True)
    links = [href for href in ("/admin/users", "/admin/outbox", "/admin/audit", "/admin/gdpr",
                               "/staff/dashboard") if f'href="{href}"' in html]
    assert "/admin/users" in links
    for href in links:
        assert client.get(href).status_code == 200, href
