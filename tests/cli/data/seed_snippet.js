// The seed's browser snippets (../shared/seed, "how to use"), verbatim but for this comment
// line and the prose line between them turned into a comment; tests/cli/test_serve.py runs them.

function saveNewImageToFaceCollection(elem) {
    let subject = encodeURIComponent(document.getElementById("subject").value);
    let apiKey = document.getElementById("apiKey").value;
    let formData = new FormData();
    let photo = elem.files[0];

    formData.append("file", photo);

    fetch('http://localhost:8000/api/v1/recognition/faces/?subject=' + subject,
        {
            method: "POST",
            headers: {
                "x-api-key": apiKey
            },
            body: formData
        }
    ).then(r => r.json()).then(
        function (data) {
            console.log('New example was saved', data);
        })
        .catch(function (error) {
            alert('Request failed: ' + JSON.stringify(error));
        });
}

// This function sends the image to our server and shows results in a text area:

function recognizeFace(elem) {
    let apiKey = document.getElementById("apiKey").value;
    let formData = new FormData();
    let photo = elem.files[0];

    formData.append("file", photo);

    fetch('http://localhost:8000/api/v1/recognition/recognize',
        {
            method: "POST",
            headers: {
                "x-api-key": apiKey
            },
            body: formData
        }
    ).then(r => r.json()).then(
        function (data) {
            document.getElementById("result").innerHTML = JSON.stringify(data);
        })
        .catch(function (error) {
            alert('Request failed: ' + JSON.stringify(error));
        });
}
