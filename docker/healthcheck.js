#!/usr/bin/env node
'use strict';
// The image's HEALTHCHECK: healthy when the admin endpoint of a node running in this container answers /health
// with 200. Which kind runs is not known here, so both admin ports are asked (IM_CLOUD_ADMIN_PORT / IM_LOGIC_ADMIN_PORT,
// default 3190 / 3191), on loopback (the admin endpoint's default bind), with the kind's admin token when one is set.
const http = require('node:http');

const probes = [
  { port: Number(process.env.IM_CLOUD_ADMIN_PORT || 3190), token: process.env.IM_CLOUD_ADMIN_TOKEN || '' },
  { port: Number(process.env.IM_LOGIC_ADMIN_PORT || 3191), token: process.env.IM_LOGIC_ADMIN_TOKEN || '' },
];

function healthy({ port, token }) {
  return new Promise((resolve) => {
    const headers = token === '' ? {} : { authorization: `Bearer ${token}` };
    const req = http.get({ host: '127.0.0.1', port, path: '/health', headers, timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}

Promise.all(probes.map(healthy)).then((answers) => process.exit(answers.some(Boolean) ? 0 : 1));
