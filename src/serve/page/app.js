// The deepmetric serve page: drop or pick images; each is sent to POST /v1/score on its own
// (the server batches concurrent requests), and its score, verdict and nearest normal images are
// shown. Plain browser JavaScript, no build step; the token (when the server asks for one) is
// kept in sessionStorage and sent as a bearer header, so images are fetched, not linked.
const $ = (selector, root = document) => root.querySelector(selector);
const state = { token: sessionStorage.getItem('deepmetric-token') || '', info: null };

function authHeaders() {
  return state.token ? { Authorization: `Bearer ${state.token}` } : {};
}

class Unauthorized extends Error {}

async function api(path, init = {}) {
  const response = await fetch(path, { ...init, headers: { ...authHeaders(), ...(init.headers || {}) } });
  if (response.status === 401) throw new Unauthorized('this server needs a token');
  return response;
}

function format(x) {
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  return a !== 0 && (a < 1e-3 || a >= 1e5) ? x.toExponential(3) : x.toFixed(4);
}

async function loadInfo() {
  try {
    const response = await api('/v1/info');
    if (!response.ok) throw new Error(`${response.status} ${response.statusText}`);
    state.info = await response.json();
    $('#token-form').hidden = true;
    const d = state.info.detector;
    const method = d.method.kind === 'embedding' ? `${d.method.backbone} + ${d.method.head}, ${d.method.scorer} score` : 'autoencoder reconstruction error';
    $('#detector-info').textContent = `Normal: ${d.normal_classes.join(', ')} · ${method} · threshold ${format(d.threshold.value)} · ${d.normals} normal images · ${d.preprocessing.width}×${d.preprocessing.height} input`;
  } catch (e) {
    if (e instanceof Unauthorized) askForToken();
    else $('#detector-info').textContent = `Cannot reach the detector: ${e.message}`;
  }
}

function askForToken() {
  $('#token-form').hidden = false;
  $('#detector-info').textContent = 'Enter the token to use this server.';
  $('#token').focus();
}

async function imageUrl(path) {
  const response = await api(path);
  if (!response.ok) throw new Error(`${response.status}`);
  return URL.createObjectURL(await response.blob());
}

function addCard(file) {
  const li = $('#result-template').content.firstElementChild.cloneNode(true);
  li.dataset.name = file.name;
  li.classList.add('pending');
  const preview = $('.query img', li);
  preview.alt = file.name;
  // The browser cannot show every file (or it is no image at all): a plain placeholder then.
  preview.addEventListener('error', () => {
    const placeholder = document.createElement('div');
    placeholder.className = 'placeholder';
    placeholder.textContent = 'no preview';
    preview.replaceWith(placeholder);
  }, { once: true });
  preview.src = URL.createObjectURL(file);
  $('.name', li).textContent = file.name;
  $('.verdict', li).textContent = 'scoring…';
  $('#results').prepend(li);
  return li;
}

function showError(li, message) {
  li.classList.remove('pending');
  li.classList.add('failed');
  li.dataset.verdict = 'error';
  $('.verdict', li).textContent = 'error';
  $('.error', li).hidden = false;
  $('.error', li).textContent = message;
  $('.neighbours', li).hidden = true;
  $('.bar', li).hidden = true;
  $('dl', li).hidden = true;
}

function showResult(li, r) {
  li.classList.remove('pending');
  li.classList.add(r.verdict);
  li.dataset.verdict = r.verdict;
  $('.verdict', li).textContent = r.verdict;
  $('.score', li).textContent = format(r.score);
  $('.threshold', li).textContent = format(r.threshold);
  if (r.threshold > 0 && r.score >= 0) {
    $('.fill', li).style.width = `${Math.min(100, (50 * r.score) / r.threshold)}%`;
  } else {
    $('.bar', li).hidden = true;
  }
  const list = $('.neighbours ul', li);
  if (r.neighbours.length === 0) $('.neighbours', li).hidden = true;
  for (const n of r.neighbours) {
    const item = document.createElement('li');
    const caption = document.createElement('span');
    caption.textContent = `${n.name ? n.name.split(/[\\/:]/).pop() : `#${n.index}`} · ${format(n.distance)}`;
    caption.title = `${n.name ?? `normal image #${n.index}`} (${n.label}), distance ${n.distance}`;
    if (n.image) {
      const img = document.createElement('img');
      img.alt = `normal image ${n.index}`;
      item.append(img);
      imageUrl(n.image).then((url) => { img.src = url; }, () => { img.alt = 'thumbnail unavailable'; });
    }
    item.append(caption);
    list.append(item);
  }
}

async function scoreFile(file) {
  const li = addCard(file);
  try {
    const response = await api(`/v1/score?name=${encodeURIComponent(file.name)}`, {
      method: 'POST', body: file, headers: { 'Content-Type': file.type || 'application/octet-stream' },
    });
    const body = await response.json().catch(() => ({ error: `${response.status} ${response.statusText}` }));
    if (!response.ok) throw new Error(body.error || `${response.status}`);
    showResult(li, body.results[0]);
  } catch (e) {
    if (e instanceof Unauthorized) askForToken();
    showError(li, e.message);
  }
}

async function scoreFiles(files) {
  const list = [...files];
  if (list.length === 0) return;
  $('#status').textContent = `Scoring ${list.length} image${list.length > 1 ? 's' : ''}…`;
  await Promise.all(list.map(scoreFile));
  const count = (selector) => document.querySelectorAll(selector).length;
  const failed = count('.result.failed');
  $('#status').textContent = `${count('.result')} images so far: ${count('.result.anomaly')} flagged as anomalies`
    + `${failed > 0 ? `, ${failed} could not be scored` : ''}.`;
}

const drop = $('#drop');
$('#files').addEventListener('change', (e) => {
  void scoreFiles(e.target.files);
  e.target.value = '';
});
for (const type of ['dragenter', 'dragover']) {
  drop.addEventListener(type, (e) => { e.preventDefault(); drop.classList.add('over'); });
}
for (const type of ['dragleave', 'drop']) {
  drop.addEventListener(type, () => drop.classList.remove('over'));
}
drop.addEventListener('drop', (e) => {
  e.preventDefault();
  void scoreFiles(e.dataTransfer.files);
});
$('#token-form').addEventListener('submit', (e) => {
  e.preventDefault();
  state.token = $('#token').value.trim();
  sessionStorage.setItem('deepmetric-token', state.token);
  void loadInfo();
});

void loadInfo();
