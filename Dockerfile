# One image for every part; docker-compose.yml picks the part with the command.
FROM node:24-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
COPY prisma ./prisma
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run prisma:generate
ENV NODE_ENV=production
CMD ["node", "scripts/serve.ts", "gateway"]
