// The step of models/train/step.onnx in TensorFlow.js: 784 → H → (μ, log σ²), 2 → H → 784, the BCE summed over
// the pixels plus β·KL, averaged over the batch, and one Adam step. The gradients are tf.variableGrads', and Adam
// is Keras's update (the step graph's), written in tfjs ops: tf.train.adam adds ε to the bias-corrected √v̂, not
// to √v, and that alone parts the two runs by 0.4 % of the KL within five steps. The config comes from CPython
// (tests/bench/tfjs.py): the start weights of pysrc/train/loop.py, and each step's batch and ε, from the seed.
const tf = globalThis.tf;
const PIXELS = 784;

function floats(base64) {
  const text = atob(base64);
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return new Float32Array(bytes.buffer);
}

async function useBackend(name) {
  if (name === 'wasm') tf.wasm.setWasmPaths('/tfjs-wasm/');
  if (!(await tf.setBackend(name))) throw new Error(`the ${name} backend does not start here`);
  await tf.ready();
  return tf.getBackend();
}

function lossTerms(p, x, epsilon) {
  const h = tf.relu(tf.add(tf.matMul(x, p.encoder_hidden_kernel), p.encoder_hidden_bias));
  const mu = tf.add(tf.matMul(h, p.z_mean_kernel), p.z_mean_bias);
  const logVar = tf.add(tf.matMul(h, p.z_log_var_kernel), p.z_log_var_bias);
  const z = tf.add(mu, tf.mul(tf.exp(tf.mul(logVar, 0.5)), epsilon));
  const h2 = tf.relu(tf.add(tf.matMul(z, p.decoder_hidden_kernel), p.decoder_hidden_bias));
  const logits = tf.add(tf.matMul(h2, p.decoder_output_kernel), p.decoder_output_bias);
  const perPixel = tf.add(tf.sub(tf.relu(logits), tf.mul(logits, x)), tf.log(tf.add(1, tf.exp(tf.neg(tf.abs(logits))))));
  const bce = tf.mean(tf.sum(perPixel, 1));
  const kl = tf.mean(tf.sum(tf.mul(-0.5, tf.sub(tf.sub(tf.add(1, logVar), tf.square(mu)), tf.exp(logVar))), 1));
  return [bce, kl];
}

// config: {backend, parameters: [{name, shape, values (base64 float32)}], images (URL), batches (steps × batch
// indices), epsilon (base64 float32, steps × batch × 2), beta, learningRate, warmup (steps not timed)}.
// Returns the backend that ran, each step's [BCE, KL], and the steps per second after the warm-up.
globalThis.tfjsTrain = async (config) => {
  const backend = await useBackend(config.backend);
  const data = new Uint8Array(await (await fetch(config.images)).arrayBuffer());
  const p = {};
  for (const {name, shape, values} of config.parameters) p[name] = tf.variable(tf.tensor(floats(values), shape), true, name);
  const epsilon = floats(config.epsilon);
  const names = Object.keys(p);
  const m = Object.fromEntries(names.map((n) => [n, tf.variable(tf.zerosLike(p[n]))]));
  const v = Object.fromEntries(names.map((n) => [n, tf.variable(tf.zerosLike(p[n]))]));
  const batch = config.batches[0].length;
  const pixels = new Float32Array(batch * PIXELS);
  const losses = [];
  let started = performance.now();
  for (let s = 0; s < config.batches.length; s++) {
    if (s === config.warmup) started = performance.now();
    config.batches[s].forEach((index, row) => {
      const digit = data.subarray(index * PIXELS, (index + 1) * PIXELS);
      for (let i = 0; i < PIXELS; i++) pixels[row * PIXELS + i] = digit[i];
    });
    let bce, kl;
    tf.tidy(() => {
      const x = tf.div(tf.tensor2d(pixels, [batch, PIXELS]), 255);
      const e = tf.tensor2d(epsilon.subarray(s * batch * 2, (s + 1) * batch * 2), [batch, 2]);
      const {grads} = tf.variableGrads(() => {
        [bce, kl] = lossTerms(p, x, e);
        tf.keep(bce);
        tf.keep(kl);
        return tf.add(bce, tf.mul(kl, config.beta));
      });
      const t = s + 1, alpha = config.learningRate * Math.sqrt(1 - 0.999 ** t) / (1 - 0.9 ** t);
      for (const n of names) {
        m[n].assign(tf.add(m[n], tf.mul(tf.sub(grads[n], m[n]), 1 - 0.9)));
        v[n].assign(tf.add(v[n], tf.mul(tf.sub(tf.square(grads[n]), v[n]), 1 - 0.999)));
        p[n].assign(tf.sub(p[n], tf.div(tf.mul(m[n], alpha), tf.add(tf.sqrt(v[n]), 1e-7))));
      }
    });
    losses.push([(await bce.data())[0], (await kl.data())[0]]);  // as the page reads its two losses each step
    bce.dispose();
    kl.dispose();
  }
  const timed = config.batches.length - config.warmup;
  const seconds = (performance.now() - started) / 1000;
  [p, m, v].forEach((vars) => Object.values(vars).forEach((variable) => variable.dispose()));
  return {backend, version: tf.version.tfjs, losses, stepsPerSecond: timed > 0 ? timed / seconds : null};
};
document.getElementById('status').dataset.ready = 'true';
