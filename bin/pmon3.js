#!/usr/bin/env node
'use strict';
// The CLI from dist/. bin/pmon3 runs this when the start-up snapshot cannot serve; `node bin/pmon3.js ARGS` works too.
require('../dist/cmd/pmon3/main.js');
