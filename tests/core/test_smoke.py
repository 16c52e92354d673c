"""The shell answers on both engines: login page, login, home, 404, logout."""


def test_login_and_home(client):
    page = client.get("/")
    assert page.status_code == 200 and "/login" in str(page.url)
    client.login("admin")
    home = client.get("/")
    assert home.status_code == 200
    assert "Olena Admin" in home.text
    missing = client.get("/no-such-page")
    assert missing.status_code == 404
    assert "Page not found" in missing.text
