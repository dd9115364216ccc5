def test_home_lists_a_published_post(client, blog):
    post = blog.post(title="Knowledge needs first")
    response = client.get("/")
    assert response.status_code == 200
    assert "Knowledge needs first" in response.text
    assert post.url in response.text
