/* The photo step, enhanced: the form works without this script (a plain multipart POST). With it, a photo
   larger than data-max-px on its longest side is made smaller in the browser (a canvas) before it leaves a
   slow 3G phone, the upload shows its progress, and a dropped network is retried with a bounded exponential
   backoff (also at once when the browser says it is online again). Hand-written, no dependencies. */
(function () {
  "use strict";
  var form = document.getElementById("photo-form");
  if (!form || !window.FormData || !window.XMLHttpRequest || !HTMLCanvasElement.prototype.toBlob) return;

  var MAX_PX = parseInt(form.getAttribute("data-max-px"), 10) || 2048;
  var MAX_ATTEMPTS = 6; // waits of 1, 2, 4, 8, 16 s: about half a minute of lost network
  var BASE_DELAY_MS = 1000;
  var MAX_DELAY_MS = 16000;
  var input = form.querySelector("input[type=file]");
  var button = form.querySelector("button[type=submit]");
  var box = document.getElementById("photo-progress");
  var bar = document.getElementById("photo-bar");
  var status = document.getElementById("photo-status");

  function say(key) { status.textContent = form.getAttribute("data-msg-" + key) || ""; }

  function loadImage(file) {
    return new Promise(function (resolve, reject) {
      var url = URL.createObjectURL(file);
      var img = new Image();
      img.onload = function () { resolve({img: img, url: url}); };
      img.onerror = function () { URL.revokeObjectURL(url); reject(new Error("decode")); };
      img.src = url;
    });
  }

  // The file itself when it is small enough (its EXIF is then kept for officers); else a JPEG ≤ MAX_PX.
  function downscale(file) {
    if (!/^image\/(jpeg|png|webp)$/.test(file.type)) return Promise.resolve(file); // HEIC etc.: the server decodes
    return loadImage(file).then(function (loaded) {
      var w = loaded.img.naturalWidth, h = loaded.img.naturalHeight, longest = Math.max(w, h);
      if (longest <= MAX_PX) { URL.revokeObjectURL(loaded.url); return file; }
      say("resizing");
      var scale = MAX_PX / longest;
      var canvas = document.createElement("canvas");
      canvas.width = Math.round(w * scale);
      canvas.height = Math.round(h * scale);
      var ctx = canvas.getContext("2d");
      ctx.fillStyle = "#fff"; // transparency flattened on white, as the server would
      ctx.fillRect(0, 0, canvas.width, canvas.height);
      ctx.drawImage(loaded.img, 0, 0, canvas.width, canvas.height);
      URL.revokeObjectURL(loaded.url);
      return new Promise(function (resolve) {
        canvas.toBlob(function (blob) {
          resolve(blob ? new File([blob], (file.name || "photo").replace(/\.\w+$/, "") + ".jpg", {type: "image/jpeg"}) : file);
        }, "image/jpeg", 0.88);
      });
    }, function () { return file; }); // cannot decode here: let the server say what is wrong
  }

  function showErrors(errors) {
    form.querySelectorAll(".error.js").forEach(function (p) { p.remove(); });
    Object.keys(errors || {}).forEach(function (name) {
      var field = name === "__all__" ? button : form.querySelector("[name=" + name + "]");
      (errors[name] || []).forEach(function (message) {
        var p = document.createElement("p");
        p.className = "error js";
        p.setAttribute("role", "alert");
        p.textContent = message;
        var anchor = field && field.closest(".field, fieldset") || form;
        anchor.insertBefore(p, anchor.firstChild.nextSibling);
      });
    });
  }

  function send(data, attempt) {
    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.action || window.location.href);
    xhr.setRequestHeader("X-Requested-With", "XMLHttpRequest");
    xhr.timeout = 120000;
    xhr.upload.onprogress = function (e) {
      if (e.lengthComputable) bar.value = Math.round(100 * e.loaded / e.total);
    };
    var retried = false;
    function retry() {
      if (retried) return;
      retried = true;
      if (attempt + 1 >= MAX_ATTEMPTS) { say("failed"); button.disabled = false; return; }
      say("retry");
      var delay = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * Math.pow(2, attempt)) * (0.75 + Math.random() / 2);
      var timer = setTimeout(go, delay);
      function go() {
        clearTimeout(timer);
        window.removeEventListener("online", go);
        bar.value = 0;
        send(data, attempt + 1);
      }
      window.addEventListener("online", go);
    }
    xhr.onerror = retry;
    xhr.ontimeout = retry;
    xhr.onload = function () {
      var body = {};
      try { body = JSON.parse(xhr.responseText); } catch (e) { /* an HTML error page */ }
      if (xhr.status === 202 || (xhr.status === 409 && attempt > 0)) {
        // 409 after a retry: the earlier attempt did arrive, the network only lost its answer.
        bar.value = 100;
        say("done");
        window.location.assign(body.redirect || window.location.href);
      } else if (xhr.status >= 500 || xhr.status === 0 || xhr.status === 429) {
        retry();
      } else {
        button.disabled = false;
        status.textContent = "";
        showErrors(body.errors);
      }
    };
    xhr.send(data);
  }

  form.addEventListener("submit", function (event) {
    var file = input.files && input.files[0];
    if (!file) return; // the server says the photo is missing, next to the field
    event.preventDefault();
    button.disabled = true;
    box.hidden = false;
    bar.value = 0;
    downscale(file).then(function (photo) {
      var data = new FormData(form);
      data.set("image", photo, photo.name || file.name);
      say("sending");
      send(data, 0);
    });
  });
})();
