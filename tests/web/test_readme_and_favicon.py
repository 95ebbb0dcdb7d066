"""Small first-day findings (issue 16): /favicon.ico answers (item 10); the README says where the
data lives and that ./scripts/run takes an address (item 12)."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_favicon_ico_leads_to_the_apps_icon(client):
    r = client.get("/favicon.ico")
    assert r.status_code == 301 and r["Location"].endswith("web/favicon.svg")
    assert client.get(r["Location"]).status_code == 200


def test_the_readme_keeps_its_two_commands_first_then_says_where_data_lives():
    text = (ROOT / "README.md").read_text()
    block = text.split("```")[1].strip().splitlines()
    assert [line.split()[0] for line in block[1:]] == ["./scripts/run", "./scripts/test"]
    after = text.split("```")[2]
    assert "./scripts/run ADDRESS" in after and "~/.local/share/recurent/" in after
    assert "RECURENT_BASE_URL" in after
    # And the script really passes the address on to `recurent serve`.
    assert 'serve "${@:-127.0.0.1:8000}"' in (ROOT / "scripts" / "run").read_text()
