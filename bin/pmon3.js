#!/usr/bin/env node
'use strict';
// The CLI from dist/ (code-cached bundle for the hot commands, oclif for the rest).
// bin/pmon3 runs this when the start-up snapshot cannot serve; `node bin/pmon3.js ARGS` works too.
require('../dist/cmd/pmon3/main.js');
