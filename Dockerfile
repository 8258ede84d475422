# One image for the API and the worker; docker-compose.yml picks the command.
FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
# npm ci's postinstall applies them (patch-package): see README "Dependencies and why".
COPY patches ./patches
# allowScripts in package.json decides which install scripts may run.
RUN npm ci --include=dev --no-audit --no-fund
COPY . .
RUN npm run build:ui
USER node
EXPOSE 3000 9464
CMD ["npm", "run", "api"]
