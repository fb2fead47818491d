// Runs the seed's snippets in node 20 as a page would: a fake `document` holds the form fields,
// `fetch` is pointed at the test server instead of localhost:8000. Prints the recognition result.
// Usage: node seed_flow.js SNIPPET BASE_URL API_KEY SUBJECT ENROL_PHOTO PROBE_PHOTO
const fs = require("fs");
const path = require("path");
const vm = require("vm");

const [snippetPath, base, apiKey, subject, enrolPhoto, probePhoto] = process.argv.slice(2);
let result = null;
let saved = null;
const fields = { subject: { value: subject }, apiKey: { value: apiKey } };
const page = {
  document: {
    getElementById: (id) => id === "result" ? { set innerHTML(text) { result = text; } } : fields[id],
  },
  FormData,
  console: { log: (message, data) => { saved = { message, data }; } },
  alert: (message) => { console.error("alert:", message); process.exit(2); },
  fetch: (url, options) => fetch(url.replace("http://localhost:8000", base), options),
  JSON,
};
vm.createContext(page);
vm.runInContext(fs.readFileSync(snippetPath, "utf8"), page);

const input = (file) => ({
  files: [new File([fs.readFileSync(file)], path.basename(file), { type: "image/jpeg" })],
});
const until = async (done) => { while (!done()) await new Promise((r) => setTimeout(r, 20)); };

(async () => {
  page.saveNewImageToFaceCollection(input(enrolPhoto));
  await until(() => saved !== null);
  page.recognizeFace(input(probePhoto));
  await until(() => result !== null);
  process.stdout.write(JSON.stringify({ saved, result: JSON.parse(result) }));
})();
